variable "name" {
  type = string
}

resource "terraform_data" "log_group" {
  input = { name = var.name }
}

output "name" {
  value = terraform_data.log_group.output.name
}
