// desiredCount is written only when DESIRED_COUNT is set: without it,
// deploy leaves the service's count alone (auto scaling owns it), as
// ecspresso does.
local desired = std.native('env')('DESIRED_COUNT', '');
{
  launchType: 'FARGATE',
  deploymentConfiguration: {
    deploymentCircuitBreaker: {
      enable: true,
      rollback: std.native('env')('CB_ROLLBACK', 'true') == 'true',
    },
    maximumPercent: 200,
    minimumHealthyPercent: 100,
  },
  networkConfiguration: {
    awsvpcConfiguration: {
      subnets: ['subnet-0a1b2c3d'],
      securityGroups: ['sg-0a1b2c3d'],
      assignPublicIp: 'DISABLED',
    },
  },
  loadBalancers: [{
    targetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef',
    containerName: 'app',
    containerPort: 8080,
  }],
  healthCheckGracePeriodSeconds: 30,
  propagateTags: 'SERVICE',
  enableExecuteCommand: true,
} + (if desired == '' then {} else { desiredCount: std.parseInt(desired) })
