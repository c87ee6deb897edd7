{
  family: "app",
  containerDefinitions: [{ name: "app", image: "nginx:latest", secrets: [{ name: "DB", valueFrom: std.native("secretsmanager_arn")("app/db") }] }],
}
