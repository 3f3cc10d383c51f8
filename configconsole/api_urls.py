"""/api/v1/: the read contract for pipelines and the change request endpoints."""

from django.urls import path

from audit.api.views import AuditLog
from configs.api import evaluate, schemas
from configs.api import views as reads
from configs.api.consumers import ConsumerList
from push import watch
from reviews.api import authoring
from reviews.api import views as changes

urlpatterns = [
    path(
        "configs/<slug:namespace>/<slug:key>/",
        reads.with_hot_path(reads.ConfigRead.as_view(), bare=False),
        name="config",
    ),
    path(
        "configs/<slug:namespace>/<slug:key>/value/",
        reads.with_hot_path(reads.ConfigValueRead.as_view(), bare=True),
        name="config_value",
    ),
    path(
        "configs/<slug:namespace>/<slug:key>/evaluate/",
        evaluate.with_hot_evaluate(evaluate.ConfigEvaluate.as_view()),
        name="config_evaluate",
    ),
    path(
        "namespaces/<slug:namespace>/evaluate/",
        evaluate.NamespaceEvaluate.as_view(),
        name="namespace_evaluate",
    ),
    path(
        "configs/<slug:namespace>/<slug:key>/versions/",
        changes.VersionList.as_view(),
        name="config_versions",
    ),
    path(
        "configs/<slug:namespace>/<slug:key>/consumers/",
        ConsumerList.as_view(),
        name="config_consumers",
    ),
    path(
        "configs/<slug:namespace>/<slug:key>/change-requests/",
        changes.ChangeRequestCreate.as_view(),
        name="change_request_create",
    ),
    path(
        "namespaces/<slug:namespace>/bundle/",
        reads.with_hot_bundle(reads.NamespaceBundle.as_view()),
        name="bundle",
    ),
    path("namespaces/<slug:namespace>/watch/", watch.namespace_watch, name="watch"),
    path("environments/", reads.EnvironmentList.as_view(), name="environments"),
    path("namespaces/<slug:namespace>/drift/", changes.NamespaceDrift.as_view(), name="drift"),
    path(
        "namespaces/<slug:namespace>/promotions/",
        changes.PromotionCreate.as_view(),
        name="promotions",
    ),
    path("audit/", AuditLog.as_view(), name="audit"),
    path("schemas/", schemas.SchemaCreate.as_view(), name="schema_create"),
    path("schemas/infer/", schemas.SchemaInfer.as_view(), name="schema_infer"),
    path("schemas/<slug:name>/", schemas.SchemaRead.as_view(), name="schema"),
    path(
        "schemas/<slug:name>/change-requests/",
        changes.SchemaChangeCreate.as_view(),
        name="schema_change_create",
    ),
    path(
        "namespaces/<slug:namespace>/configs/", authoring.NewConfig.as_view(), name="config_create"
    ),
    path("change-requests/", changes.ChangeRequestSetCreate.as_view(), name="change_requests"),
    path("change-requests/<int:pk>/", changes.ChangeRequestDetail.as_view(), name="change_request"),
    path(
        "change-requests/<int:pk>/rebase/",
        changes.ChangeRequestRebase.as_view(),
        name="change_request_rebase",
    ),
    path(
        "change-requests/<int:pk>/approve/",
        changes.ChangeRequestApprove.as_view(),
        name="change_request_approve",
    ),
    path(
        "change-requests/<int:pk>/request-changes/",
        changes.ChangeRequestRequestChanges.as_view(),
        name="change_request_request_changes",
    ),
    path(
        "change-requests/<int:pk>/publish/",
        changes.ChangeRequestPublish.as_view(),
        name="change_request_publish",
    ),
    path(
        "change-requests/<int:pk>/withdraw/",
        changes.ChangeRequestWithdraw.as_view(),
        name="change_request_withdraw",
    ),
]
