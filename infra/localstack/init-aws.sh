#!/usr/bin/env bash
# LocalStack "ready" hook for Wrapper: creates what template.yaml cannot.
#
# CloudFormation cannot create SSM SecureString parameters, so the Stripe secrets the
# functions read at runtime (template parameters StripeSecretKeyParameter and
# StripeWebhookSecretParameter) are created here, with local values:
#   /wrapper/stripe/secret-key      <- $STRIPE_SECRET_KEY     (default sk_test_local)
#   /wrapper/stripe/webhook-secret  <- $STRIPE_WEBHOOK_SECRET (default whsec_local_wrapper;
#                                      comma-separated during a rotation)
# Everything else (table, bus, queues, functions, API, state machine, ...) comes from the
# template via `sam deploy`.
#
# How to use it with LocalStack in Docker (only for people who have Docker; the default way
# to run Wrapper locally is the embedded local cloud in infra/localcloud, which needs none):
#
#   docker run --rm -d --name localstack -p 4566:4566 \
#     -v /var/run/docker.sock:/var/run/docker.sock \
#     -v "$PWD/infra/localstack/init-aws.sh:/etc/localstack/init/ready.d/init-aws.sh" \
#     -e STRIPE_SECRET_KEY=sk_test_local -e STRIPE_WEBHOOK_SECRET=whsec_local_wrapper \
#     localstack/localstack
#   export AWS_ENDPOINT_URL=http://localhost:4566 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
#   sam build && sam deploy --config-env local        # or: samlocal build && samlocal deploy ...
#
# LocalStack runs every executable *.sh in /etc/localstack/init/ready.d/ once it is ready,
# where `awslocal` is on PATH. The script can also be run by hand from the host: without
# `awslocal` it falls back to `aws --endpoint-url "${AWS_ENDPOINT_URL:-http://localhost:4566}"`.
# It is idempotent (--overwrite), so running it again just resets the values.
#
# UNTESTED WITH LOCALSTACK: this script was NOT run inside LocalStack (nor with awslocal) on
# this project's machines, because they have no Docker daemon. What was checked there:
# `bash -n`, and its `aws --endpoint-url` fallback run against a moto server (both
# parameters created as SecureString; a second run overwrote them).
set -euo pipefail

REGION="${AWS_DEFAULT_REGION:-${AWS_REGION:-us-east-1}}"
STRIPE_SECRET_KEY="${STRIPE_SECRET_KEY:-sk_test_local}"
STRIPE_WEBHOOK_SECRET="${STRIPE_WEBHOOK_SECRET:-whsec_local_wrapper}"
SECRET_KEY_PARAMETER="${STRIPE_SECRET_KEY_PARAMETER:-/wrapper/stripe/secret-key}"
WEBHOOK_SECRET_PARAMETER="${STRIPE_WEBHOOK_SECRET_PARAMETER:-/wrapper/stripe/webhook-secret}"

if command -v awslocal >/dev/null 2>&1; then
  aws_cli=(awslocal)
else
  aws_cli=(aws --endpoint-url "${AWS_ENDPOINT_URL:-http://localhost:4566}")
fi

put_secure_string() {
  local name="$1" value="$2" description="$3"
  "${aws_cli[@]}" ssm put-parameter \
    --region "$REGION" \
    --name "$name" \
    --type SecureString \
    --value "$value" \
    --description "$description" \
    --overwrite \
    --output text >/dev/null
  echo "wrapper init: SSM SecureString $name is set (region $REGION)"
}

put_secure_string "$SECRET_KEY_PARAMETER" "$STRIPE_SECRET_KEY" \
  "Stripe secret key (local value, LocalStack)"
put_secure_string "$WEBHOOK_SECRET_PARAMETER" "$STRIPE_WEBHOOK_SECRET" \
  "Stripe webhook signing secret(s), comma-separated during rotation (local value, LocalStack)"

echo "wrapper init: done; now run: sam build && sam deploy --config-env local"
