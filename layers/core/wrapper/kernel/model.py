"""The base of the layer's Pydantic models (requests, responses, records, events).

A Pydantic model builds its validator and serializer when its class is created, unless told to wait:
over the layer's models that is tens of milliseconds of every cold start, most of it for models the
first request never touches (a function imports every route's models; a request uses one route's).
``defer_build`` builds each model on its first use instead (validation, a dump, its JSON schema).

``wrapper.settings`` does not use this base: the settings are read at import, so deferring them
would save nothing.
"""

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(defer_build=True)
