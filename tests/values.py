"""Values the tests propose, built from what a config holds now."""

import copy

from configs.selectors import newest_version as newest


def with_company(config, company_id, timezone="UTC", base=None):
    """The config's newest value (or `base`) with one more company (company-timezones)."""
    value = copy.deepcopy(base if base is not None else newest(config).value)
    value["companies"].append({"company_id": company_id, "timezone": timezone})
    return value
