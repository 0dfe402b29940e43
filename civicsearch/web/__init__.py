"""The search page and the JSON API over one :class:`~civicsearch.SearchEngine` (``civicsearch serve``)."""

from civicsearch.web.app import ATOM, MAX_EXPORT, SHOW_PATHS_ENV, app_from_env, create_app

__all__ = ["ATOM", "MAX_EXPORT", "SHOW_PATHS_ENV", "app_from_env", "create_app"]
