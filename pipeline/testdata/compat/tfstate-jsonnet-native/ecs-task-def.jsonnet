local tfstate = std.native("tfstate");
{
  family: "app",
  taskRoleArn: tfstate("aws_iam_role.task.arn"),
  containerDefinitions: [{ name: "app", image: "nginx:latest" }],
}
