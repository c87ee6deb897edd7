local must_env = std.native('must_env');
local tfstate = std.native('tfstate');

{
  family: 'hello',
  networkMode: 'awsvpc',
  requiresCompatibilities: ['FARGATE'],
  cpu: '256',
  memory: '512',
  taskRoleArn: tfstate('terraform_data.role["task"].output.value.arn'),
  executionRoleArn: tfstate('terraform_data.role["task-execution"].output.value.arn'),
  containerDefinitions: [{
    name: 'app',
    image: must_env('IMAGE'),
    environment: [
      { name: 'CLUSTER_ARN', value: tfstate('terraform_data.cluster.output.value.arn') },
      { name: 'SECOND_AZ', value: tfstate('terraform_data.subnet[1].output.value.availability_zone') },
    ],
    logConfiguration: {
      logDriver: 'awslogs',
      options: {
        'awslogs-group': tfstate('module.logs.terraform_data.log_group.output.value.name'),
        'awslogs-region': 'ap-northeast-1',
        'awslogs-stream-prefix': 'app',
      },
    },
  }],
}
