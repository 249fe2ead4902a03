"""Serving: one HTTP API (Open Inference Protocol v2) for every installed app.

Heavy imports (FastAPI, uvicorn, celery, redis) happen inside the modules that need them; importing
this package costs nothing. Entry points: :func:`seek.serving.server.create_app`, ``seek serve``,
``seek models``, ``seek keys``, ``seek worker``.
"""
