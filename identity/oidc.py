"""Signing in with the company's OpenID provider, through mozilla-django-oidc.

The library does the authorization code flow (state, nonce and PKCE kept in the session and
checked at the callback, the code exchanged, the ID token's signature checked against the
provider's keys). What it leaves to us, and this module adds:

- discovery: the endpoints come from `OIDC_ISSUER/.well-known/openid-configuration`, read once
  per process when a sign-in first needs them (never at start-up, so password sign-in and the
  rest of the console do not depend on the provider being up);
- the ID token's issuer and audience are checked too (the library checks neither);
- who the person is: `sub` at this issuer, never the e-mail alone (identity.services);
- a refused sign-in is said in words on the login page and kept in the audit log.
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.contrib import auth, messages
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from audit.services import client_ip, record
from identity import services
from identity.services import SignInRefused

logger = logging.getLogger(__name__)

# The library's settings that discovery answers, and the discovery document's names for them.
DISCOVERED = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
    "OIDC_OP_LOGOUT_ENDPOINT": "end_session_endpoint",
}

_discovered: dict[str, dict[str, Any]] = {}
_lock = threading.Lock()


def enabled() -> bool:
    return bool(getattr(settings, "OIDC_ISSUER", ""))


def provider_name() -> str:
    return getattr(settings, "OIDC_PROVIDER_NAME", "") or "your identity provider"


def discovery() -> dict[str, Any]:
    """The provider's discovery document, fetched once per process and issuer."""
    issuer = settings.OIDC_ISSUER
    if not issuer:
        raise ImproperlyConfigured("OIDC_ISSUER is not set.")
    with _lock:
        if issuer not in _discovered:
            url = issuer.rstrip("/") + "/.well-known/openid-configuration"
            response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
            response.raise_for_status()
            document = response.json()
            if document.get("issuer", "").rstrip("/") != issuer.rstrip("/"):
                raise ImproperlyConfigured(
                    f"The provider at {url} says its issuer is {document.get('issuer')!r}, "
                    f"not OIDC_ISSUER {issuer!r}."
                )
            _discovered[issuer] = document
        return _discovered[issuer]


def forget_discovery() -> None:
    with _lock:
        _discovered.clear()


def oidc_setting(attr: str, *args):
    """A library setting: an explicit OIDC_OP_* setting wins, else the discovery document."""
    if attr in DISCOVERED and not getattr(settings, attr, None):
        value = discovery().get(DISCOVERED[attr])
        if value is None and not args:
            raise ImproperlyConfigured(f"The provider does not publish {DISCOVERED[attr]}.")
        return value if value is not None else args[0]
    return import_from_settings(attr, *args)


class ProviderBackend(OIDCAuthenticationBackend):
    """The library's backend, with endpoints from discovery and the person found by `sub`."""

    get_settings = staticmethod(oidc_setting)

    def __init__(self, *args, **kwargs):
        # The library reads every endpoint here, and Django makes a backend for each session
        # check: reading them lazily keeps the provider out of every request.
        from django.contrib.auth import get_user_model

        self.UserModel = get_user_model()

    OIDC_OP_TOKEN_ENDPOINT = property(lambda self: oidc_setting("OIDC_OP_TOKEN_ENDPOINT"))
    OIDC_OP_USER_ENDPOINT = property(lambda self: oidc_setting("OIDC_OP_USER_ENDPOINT", None))
    OIDC_OP_JWKS_ENDPOINT = property(lambda self: oidc_setting("OIDC_OP_JWKS_ENDPOINT", None))
    OIDC_RP_CLIENT_ID = property(lambda self: settings.OIDC_RP_CLIENT_ID)
    OIDC_RP_CLIENT_SECRET = property(lambda self: settings.OIDC_RP_CLIENT_SECRET)
    OIDC_RP_SIGN_ALGO = property(lambda self: settings.OIDC_RP_SIGN_ALGO)
    OIDC_RP_IDP_SIGN_KEY = property(lambda self: getattr(settings, "OIDC_RP_IDP_SIGN_KEY", None))

    def authenticate(self, request, **kwargs):
        # Only the callback view's call (it passes the nonce it kept): a password sign-in with
        # ?code= in its address must not send anything to the provider.
        if request is None or not enabled() or "nonce" not in kwargs or "code" not in request.GET:
            return None
        try:
            return super().authenticate(request, **kwargs)
        except requests.HTTPError as exc:
            body = _error_body(exc.response)
            if body.get("error") == "invalid_grant":
                raise SignInRefused(
                    f"{provider_name()} did not accept the sign-in code: it has expired or was "
                    "already used. Sign in again."
                ) from exc
            raise SignInRefused(
                f"{provider_name()} refused to finish the sign-in ({body.get('error', exc)})."
            ) from exc
        except requests.RequestException as exc:
            raise SignInRefused(f"{provider_name()} could not be reached ({exc}).") from exc
        except SuspiciousOperation as exc:
            raise SignInRefused(f"The answer from {provider_name()} was refused: {exc}") from exc

    def _verify_jws(self, payload, key):
        # The library checks the signature only; the issuer, audience and expiry matter as much.
        algorithm = jwt.get_unverified_header(payload).get("alg")
        if algorithm != self.OIDC_RP_SIGN_ALGO:
            raise SuspiciousOperation(
                f"the ID token is signed with {algorithm}, not the expected one."
            )
        try:
            return jwt.decode(
                payload,
                key,
                algorithms=[algorithm],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=discovery()["issuer"],
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise SuspiciousOperation(f"the ID token is not valid ({exc}).") from exc

    def get_or_create_user(self, access_token, id_token, payload):
        claims = dict(payload)
        if self.OIDC_OP_USER_ENDPOINT:
            userinfo = self.get_userinfo(access_token, id_token, payload)
            if userinfo.get("sub") != payload.get("sub"):
                raise SignInRefused("The provider's user info is about someone else.")
            claims.update(userinfo)
        return services.person_sign_in_with_provider(
            issuer=discovery()["issuer"],
            claims=claims,
            username_claim=settings.OIDC_USERNAME_CLAIM,
            groups_claim=settings.OIDC_GROUPS_CLAIM,
            provider=provider_name(),
        )

    def get_user(self, user_id):
        # The library's get_user would keep a deactivated person's session alive.
        user = super().get_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


class SignInStart(OIDCAuthenticationRequestView):
    """Sends the browser to the provider (state, nonce and PKCE made and kept by the library)."""

    get_settings = staticmethod(oidc_setting)

    def __init__(self, *args, **kwargs):
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)

    def get(self, request):
        if not enabled():
            raise Http404("Signing in with an identity provider is not set up.")
        try:
            self.OIDC_OP_AUTH_ENDPOINT = oidc_setting("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except (requests.RequestException, ImproperlyConfigured, ValueError) as exc:
            return _refused(request, f"{provider_name()} could not be reached ({exc}).")
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        return super().get(request)


class SignInCallback(OIDCAuthenticationCallbackView):
    """The provider's answer: the library checks state, nonce and PKCE and exchanges the code;
    a refusal comes back to the login page with its reason, and into the audit log."""

    get_settings = staticmethod(oidc_setting)

    def get(self, request):
        if not enabled():
            raise Http404("Signing in with an identity provider is not set up.")
        if request.GET.get("error"):
            reason = request.GET.get("error_description") or request.GET["error"]
            super().get(request)  # forgets the state
            return _refused(request, f"{provider_name()} did not sign you in: {reason}.")
        state = request.GET.get("state")
        if "code" not in request.GET or not state:
            return _refused(request, "The sign-in answer was incomplete (no code or state).")
        if state not in request.session.get("oidc_states", {}):
            return _refused(
                request,
                "The sign-in answer does not match a sign-in started in this browser (wrong or "
                "reused state): start again from the login page.",
            )
        try:
            response = super().get(request)
        except SignInRefused as exc:
            return _refused(request, exc.reason)
        if not getattr(self, "user", None):
            return _refused(request, "The sign-in did not go through.")
        return response

    @property
    def success_url(self):
        # Kept by SignInStart, where the library checked it is on this site.
        return self.request.session.pop("oidc_login_next", None) or reverse(
            settings.LOGIN_REDIRECT_URL
        )


def _refused(request, reason: str) -> HttpResponseRedirect:
    record(
        "auth.login_failed",
        actor=None,
        target=None,
        reason=reason,
        details={"provider": provider_name(), "ip": client_ip(request)},
    )
    messages.error(request, f"Signing in with {provider_name()} did not work. {reason}")
    return HttpResponseRedirect(reverse("login"))


def provider_logout_url(request) -> str:
    """Where sign-out sends the browser: the provider's end_session_endpoint when it has one
    (ending the session there too), else the login page. Called before the session is ended."""
    login = request.build_absolute_uri(reverse("login"))
    id_token = request.session.get("oidc_id_token")
    if not enabled() or not id_token:
        return login
    try:
        endpoint = oidc_setting("OIDC_OP_LOGOUT_ENDPOINT", None)
    except (requests.RequestException, ImproperlyConfigured, ValueError):
        endpoint = None
    if not endpoint:
        return login
    query = urlencode(
        {
            "id_token_hint": id_token,
            "post_logout_redirect_uri": login,
            "client_id": settings.OIDC_RP_CLIENT_ID,
        }
    )
    return f"{endpoint}?{query}"


def sign_out(request):
    """Ends the console session, then the provider's when the person signed in there."""
    if request.method != "POST":
        from django.http import HttpResponseNotAllowed

        return HttpResponseNotAllowed(["POST"])
    target = provider_logout_url(request)
    auth.logout(request)
    return HttpResponseRedirect(target)


def _error_body(response) -> dict:
    """The provider's error answer as JSON, or {} when it sent something else (an HTML error
    page): the sign-in is refused in words either way, never with a 500."""
    try:
        body = response.json() if response is not None else {}
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
