# A Terraform configuration that needs no provider download: terraform_data
# resources stand in for what a team's infrastructure repository owns.
# generate.sh applies it with Terraform 1.5.7 and its S3 backend against
# moto, and keeps the state it wrote as terraform.tfstate.
terraform {
  backend "s3" {}
}

resource "terraform_data" "cluster" {
  input = {
    name = "prod"
    arn  = "arn:aws:ecs:ap-northeast-1:123456789012:cluster/prod"
  }
}

resource "terraform_data" "role" {
  for_each = toset(["task", "task-execution"])
  input = {
    name = "hello-${each.key}"
    arn  = "arn:aws:iam::123456789012:role/hello-${each.key}"
  }
}

resource "terraform_data" "subnet" {
  count = 2
  input = {
    id                = "subnet-0${count.index}aaaabbbbccccdd"
    availability_zone = "ap-northeast-1${element(["a", "c"], count.index)}"
  }
}

module "logs" {
  source = "./logs"
  name   = "/ecs/hello"
}

output "subnet_ids" {
  value = terraform_data.subnet[*].output.id
}

output "log_group" {
  value = module.logs.name
}
