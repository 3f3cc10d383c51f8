"""Changes to namespaces, schemas, configs, versions and tokens, one module per topic.

Reads (value_errors, schema_breakage, newest_version, …) live in `configs.selectors`."""

from configs.services.environments import (
    ENVIRONMENT_DETAILS,
    environment_add,
    environment_move,
    environment_remove,
    environment_update,
)
from configs.services.namespaces import (
    NAMESPACE_SETTINGS,
    membership_remove,
    membership_set,
    namespace_create,
    namespace_update,
)
from configs.services.schemas import schema_create, schema_update, schema_version_add
from configs.services.tokens import (
    TOKEN_PREFIX,
    can_revoke_token,
    token_create,
    token_hash,
    token_revoke,
)
from configs.services.versions import (
    CONFIG_DETAILS,
    NewVersion,
    config_add,
    config_create,
    config_update,
    version_cancel,
    version_publish,
    versions_publish,
)

__all__ = [
    "CONFIG_DETAILS",
    "ENVIRONMENT_DETAILS",
    "NAMESPACE_SETTINGS",
    "NewVersion",
    "TOKEN_PREFIX",
    "can_revoke_token",
    "config_add",
    "config_create",
    "config_update",
    "environment_add",
    "environment_move",
    "environment_remove",
    "environment_update",
    "membership_remove",
    "membership_set",
    "namespace_create",
    "namespace_update",
    "schema_create",
    "schema_update",
    "schema_version_add",
    "token_create",
    "token_hash",
    "token_revoke",
    "version_cancel",
    "version_publish",
    "versions_publish",
]
