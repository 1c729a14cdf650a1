"""Provider adapters, one module each: adding a provider is adding one file here."""

import importlib
import pkgutil

from events.providers.base import ProviderAdapter


def _discover() -> dict[str, type[ProviderAdapter]]:
    adapters = {}
    for module in pkgutil.iter_modules(__path__):
        if module.name != "base":
            adapter = importlib.import_module(f"{__name__}.{module.name}").Adapter
            adapters[adapter.slug] = adapter
    return dict(sorted(adapters.items()))


ADAPTERS: dict[str, type[ProviderAdapter]] = _discover()
