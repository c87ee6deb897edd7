// Task definition for [[ .Service ]]. IMAGE is the digest-pinned reference
// that publish returns (ship sets it); tfstate reads Terraform's state.
local must_env = std.native('must_env');
local tfstate = std.native('tfstate');

{
  family: '[[ .Service ]]',
  requiresCompatibilities: ['FARGATE'],
  networkMode: 'awsvpc',
  cpu: '256',
  memory: '512',
  runtimePlatform: { operatingSystemFamily: 'LINUX', cpuArchitecture: 'X86_64' },
  executionRoleArn: tfstate('aws_iam_role.task_execution.arn'),
  taskRoleArn: tfstate('aws_iam_role.task.arn'),
  containerDefinitions: [
    {
      name: 'app',
      image: must_env('IMAGE'),
      essential: true,
      portMappings: [{ containerPort: 8080, protocol: 'tcp' }],
      environment: [{ name: 'PORT', value: '8080' }],
      logConfiguration: {
        logDriver: 'awslogs',
        options: {
          'awslogs-group': tfstate('module.logs.aws_cloudwatch_log_group.app.name'),
          'awslogs-region': '[[ .Region ]]',
          'awslogs-stream-prefix': 'app',
        },
      },
    },
  ],
}
