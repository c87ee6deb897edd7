{
  family: "app",
  containerDefinitions: [{ name: "app", image: "nginx:latest", environment: [{ name: "VPC", value: std.native("net_tfstate")("aws_vpc.main.id") }] }],
}
