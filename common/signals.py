"""What the library tells the apps above it, which it may not import."""

from django.dispatch import Signal

# A person was refused an action (a PermissionDenied, Django's or DRF's) that a console page or
# the API's exception handler answered itself, so no middleware saw it. Sent with `request`,
# `exc` and, when known, the `namespace` and `config` it concerned; the audit app records it
# (audit/receivers.py). A signal, because the library must not import the audit app.
access_refused = Signal()
