local env = std.native('env');
{
  region: env('AWS_REGION', 'ap-northeast-1'),
  cluster: 'app',
  service: 'app',
  task_definition: 'ecs-task-def.jsonnet',
  service_definition: 'ecs-service-def.jsonnet',
  timeout: '15m',
  plugins: [
    { name: 'tfstate', config: { path: '../../tfstate/terraform.tfstate' } },
    { name: 'tfstate', config: { url: '../../tfstate/network.tfstate' }, func_prefix: 'network_' },
  ],
}
