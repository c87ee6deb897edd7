{
  family: 'app',
  taskRoleArn: std.native('tfstate')('aws_iam_role.nope.arn'),
  containerDefinitions: [{ name: 'app', image: 'app:1' }],
}
