"""Values the tests propose, built from what a config holds now."""

import copy

from configs.selectors import newest_version as newest


def with_company(config, company_id, timezone="UTC", base=None):
    """The config's newest value (or `base`) with one more company (company-timezones)."""
    value = copy.deepcopy(base if base is not None else newest(config).value)
    value["companies"].append({"company_id": company_id, "timezone": timezone})
    return value


def in_every_environment(label, value):
    """`value` for the config `label` ("namespace/key") in every environment, named as a schema
    change names the values it migrates ("namespace/key@environment" outside the default one)."""
    from configs import environments

    return {environments.labelled(label, env.id): value for env in environments.every()}


def in_default_environment(changes):
    """A change request's changes (a queryset) in the default environment's lines."""
    from configs import environments

    return changes.filter(environment_id=environments.default().id)


def staging():
    """The demo's staging environment."""
    from configs import environments

    return environments.named("staging")


def in_staging(config, company_id):
    """The config's newest value in staging with one more company (company-timezones)."""
    return with_company(config, company_id, base=newest(config, staging()).value)
