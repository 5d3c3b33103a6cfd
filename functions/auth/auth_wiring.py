"""What the auth function's routers share, built once per cold start."""

from wrapper import aws
from wrapper.identity.cognito import CognitoIdentityProvider
from wrapper.identity.service import IdentityService
from wrapper.identity.store import IdentityStore
from wrapper.settings import Settings
from wrapper.store.table import table_for

settings = Settings.from_environ()
table = table_for(settings)
idp = CognitoIdentityProvider(aws.client_for(settings, "cognito-idp"), user_pool_id=settings.user_pool_id,
                              client_id=settings.user_pool_client_id)
identity = IdentityService(idp=idp, store=IdentityStore(table, outbox_ttl_days=settings.outbox_ttl_days))
