"""The minutes archive: filing (Maildir + SQLite + Whoosh index) and German full-text search.

Modules: ``store`` (Maildir, metadata), ``mime`` (reading messages), ``extract``
(attachment text with limits), ``analysis`` (German words, stems, compounds), ``index``
(Whoosh schema and writers), ``search`` (query language, ranking), ``meetings`` (which
meeting minutes belong to), ``filing`` (the work of the pipeline's archive step).
Heavy imports (whoosh, pypdf) stay inside these modules, so ``import akn_mail.archive``
is cheap.
"""
