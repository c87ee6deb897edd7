#!/usr/bin/env bash
# Regenerate terraform.tfstate with a real Terraform and its S3 backend
# against moto. Needs terraform 1.5.7 (go install
# github.com/hashicorp/terraform@v1.5.7), moto_server and the aws CLI.
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work" .terraform .terraform.lock.hcl' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
until curl -fs "http://127.0.0.1:$port/moto-api/" >/dev/null; do sleep 0.2; done
export AWS_ACCESS_KEY_ID=moto AWS_SECRET_ACCESS_KEY=moto AWS_REGION=ap-northeast-1
aws --endpoint-url "http://127.0.0.1:$port" s3 mb s3://tfstate >/dev/null
terraform init -input=false -no-color \
  -backend-config="bucket=tfstate" -backend-config="key=hello/terraform.tfstate" \
  -backend-config="region=ap-northeast-1" -backend-config="endpoint=http://127.0.0.1:$port" \
  -backend-config="force_path_style=true" -backend-config="skip_credentials_validation=true" \
  -backend-config="skip_metadata_api_check=true" -backend-config="skip_region_validation=true" >/dev/null
terraform apply -input=false -no-color -auto-approve >/dev/null
aws --endpoint-url "http://127.0.0.1:$port" s3 cp s3://tfstate/hello/terraform.tfstate terraform.tfstate >/dev/null
echo "wrote $(pwd)/terraform.tfstate"
