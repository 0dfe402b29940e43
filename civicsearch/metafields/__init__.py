"""One module per metadata field, each registering its :class:`~civicsearch.registry.MetaField`.

The registry imports every module here; a new field is a new module (see
:mod:`civicsearch.registry`). Module names never appear in an index: moving or
renaming one needs no reindex, changing what it indexes bumps its ``version``.
"""
