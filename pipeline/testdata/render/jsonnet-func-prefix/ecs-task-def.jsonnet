local tfstate = std.native('tfstate');
local must_env = std.native('must_env');
local env = std.native('env');
{
  family: 'app',
  networkMode: 'awsvpc',
  cpu: '1 vCPU',
  memory: '2 GB',
  executionRoleArn: tfstate('aws_iam_role.task_execution.arn'),
  containerDefinitions: [
    {
      name: 'app',
      image: must_env('IMAGE'),
      environment: [
        { name: 'VPC_ID', value: std.native('network_tfstate')('output.vpc_id') },
        { name: 'SUBNETS', value: std.join(',', tfstate('output.private_subnet_ids')) },
        { name: 'LOG_LEVEL', value: env('LOG_LEVEL', 'info') },
        // Templates still run after Jsonnet.
        { name: 'ALB_SG', value: '{{ network_tfstate `aws_security_group.alb.id` }}' },
      ],
    },
  ],
}
