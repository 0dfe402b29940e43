"""The OpenSearch backend (:class:`OpenSearchBackend`): civicsearch's analysis and query language
over an OpenSearch cluster (needs the opensearch extra: ``pip install 'civicsearch[opensearch]'``)."""

from civicsearch.backends.opensearch.backend import OpenSearchBackend

__all__ = ["OpenSearchBackend"]
