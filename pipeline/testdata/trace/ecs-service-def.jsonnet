// desiredCount is here as in many ecspresso projects; deploy leaves the
// service's count alone unless asked.
{
  launchType: 'FARGATE',
  desiredCount: 1,
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
}
