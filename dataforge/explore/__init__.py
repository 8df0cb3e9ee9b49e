"""`dataforge explore OUT`: browse a run's kept and rejected rows in a local web app.

`query.Run` answers filters, sorts, pages and row look-ups from the run's cache (`store.py`,
built once from the Parquet files, under OUT/.explore);
`app.create_app` serves it (Starlette + uvicorn) with one static page.
"""
from dataforge.explore.query import Query, Run

__all__ = ["Query", "Run"]
