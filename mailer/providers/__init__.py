"""Outgoing provider kinds, one module each (adding a kind is adding one file here), plus the
shared machinery: `base` (kinds, backends, error classification), `state` (health in Redis)
and `router` (choosing a provider and failing over)."""

import importlib
import pkgutil

from mailer.providers.base import ProviderKind

_MACHINERY = {"base", "router", "state"}


def _discover() -> dict[str, ProviderKind]:
    kinds = {}
    for module in pkgutil.iter_modules(__path__):
        if module.name not in _MACHINERY:
            kind = importlib.import_module(f"{__name__}.{module.name}").kind
            kinds[kind.slug] = kind
    return dict(sorted(kinds.items()))


KINDS: dict[str, ProviderKind] = _discover()


def kind_for(slug: str) -> ProviderKind:
    return KINDS[slug]
