"""The minutes archive: filing (Maildir + SQLite + Whoosh index) and German full-text search.

Modules: ``store`` (Maildir, metadata), ``mime`` (reading messages), ``extract``
(attachment text with limits), ``analysis`` (German words, stems, compounds), ``index``
(Whoosh schema and writers), ``search`` (query language, ranking), ``meetings`` (which
meeting minutes belong to), ``filing`` (the work of the pipeline's archive step).
Heavy imports (whoosh, pypdf) stay inside these modules, so ``import akn_mail.archive``
is cheap.
"""

import functools
import sys
import types


def _light_cached_property() -> None:
    """Let whoosh use functools.cached_property instead of the ``cached_property`` package.

    That package imports asyncio for its async variants, which whoosh never uses: about
    40 ms on every ``akn-mail search``. In a process that has asyncio loaded already (the
    server) the real package is used as is.
    """
    if "cached_property" in sys.modules or "asyncio" in sys.modules:
        return
    module = types.ModuleType("cached_property")
    module.cached_property = functools.cached_property
    sys.modules["cached_property"] = module


_light_cached_property()

