// No desiredCount: deploy leaves the service's count (2, from create)
// alone, as ecspresso does when neither --tasks nor the file sets one.
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
}
