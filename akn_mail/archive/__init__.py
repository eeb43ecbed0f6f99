"""The minutes archive: filing (Maildir + SQLite + Whoosh index) and German full-text search.

Modules: ``store`` (Maildir, metadata), ``mime`` (reading messages), ``extract``
(attachment text with limits), ``analysis`` (German words, stems, compounds), ``index``
(Whoosh schema and writers), ``search`` (query language, ranking), ``meetings`` (which
meeting minutes belong to), ``filing`` (the work of the pipeline's archive step).
The package loads whoosh without the parts it never uses here (see
``_light_whoosh_imports``); pypdf, python-docx and odfpy are imported only in the
extraction child process.
"""

import functools
import sys
import types
from contextlib import contextmanager


def _urlretrieve(*args, **kwargs):  # pragma: no cover - whoosh never downloads anything here
    from urllib.request import urlretrieve

    return urlretrieve(*args, **kwargs)


@contextmanager
def _light_whoosh_imports():
    """Import whoosh without two modules it loads but never uses here.

    whoosh.compat imports urllib.request (http.client, ssl, email: ~50 ms) for a download
    helper, and whoosh.reading the ``cached_property`` package, which imports asyncio
    (~40 ms). Both cost every ``akn-mail search``. During whoosh's import, small stand-ins
    take their places (functools.cached_property does the same for whoosh's use); they are
    removed again right after, so any later import gets the real modules.
    """
    installed = []
    if "cached_property" not in sys.modules:
        module = types.ModuleType("cached_property")
        module.cached_property = functools.cached_property
        sys.modules["cached_property"] = module
        installed.append("cached_property")
    if "urllib.request" not in sys.modules:
        module = types.ModuleType("urllib.request")
        module.urlretrieve = _urlretrieve
        sys.modules["urllib.request"] = module
        installed.append("urllib.request")
    try:
        yield
    finally:
        for name in installed:
            del sys.modules[name]
        if "urllib.request" in installed:
            import urllib

            urllib.__dict__.pop("request", None)


with _light_whoosh_imports():
    import whoosh.compat  # noqa: E402,F401
    import whoosh.reading  # noqa: E402,F401
