from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

from common import api, faults
from configs.api import ofrep
from identity import oidc
from identity import views as identity_views
from push.ofrep import ofrep_stream

urlpatterns = [
    # For load balancers and orchestrators: no sign-in, no throttling, no session.
    path("healthz", faults.healthz, name="healthz"),
    path("readyz", faults.readyz, name="readyz"),
    path("accounts/login/", identity_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", oidc.sign_out, name="logout"),
    path("oidc/authenticate/", oidc.SignInStart.as_view(), name="oidc_authentication_init"),
    path("oidc/callback/", oidc.SignInCallback.as_view(), name="oidc_authentication_callback"),
    path("scim/v2/", include(("identity.scim", "scim"))),
    path("signin/", include("identity.urls")),
    path("admin/login/", identity_views.admin_login),
    path("admin/", admin.site.urls),
    path("api/v1/", include(("configconsole.api_urls", "api"))),
    # The API's description is public: it holds no data, and tools fetch it without a token.
    path(
        "api/schema/",
        SpectacularAPIView.as_view(permission_classes=[AllowAny], authentication_classes=[]),
        name="api-schema",
    ),
    path(
        "api/docs/",
        # Split: the page and its start-up script come apart, so no script is inline.
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", permission_classes=[AllowAny], authentication_classes=[]
        ),
        name="api-docs",
    ),
    re_path(r"^api/", api.not_found),
    # OpenFeature's Remote Evaluation Protocol: configs as flags for every OpenFeature SDK.
    path("ofrep/v1/evaluate/flags/<str:key>", ofrep.evaluate_flag, name="ofrep_flag"),
    path("ofrep/v1/evaluate/flags", ofrep.evaluate_flags, name="ofrep_flags"),
    path("ofrep/v1/stream", ofrep_stream, name="ofrep_stream"),
    re_path(r"^ofrep/", api.not_found),
    path("tokens/", include("configs.token_urls")),
    path("settings/", include("people.urls")),
    path("", include("configs.urls")),
    path("", include("reviews.urls")),
    path("", include("push.urls")),
    path("audit/", include("audit.urls")),
]

handler400 = api.handler400
handler403 = api.handler403
handler404 = api.handler404
handler500 = api.handler500
