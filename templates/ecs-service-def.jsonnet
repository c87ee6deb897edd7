// Service definition for [[ .Service ]]. desiredCount is left to auto
// scaling; the circuit breaker rolls a failing deployment back, and ship
// reports that as a failed deploy.
local tfstate = std.native('tfstate');

{
  launchType: 'FARGATE',
  platformVersion: 'LATEST',
  deploymentConfiguration: {
    deploymentCircuitBreaker: { enable: true, rollback: true },
    maximumPercent: 200,
    minimumHealthyPercent: 100,
  },
  networkConfiguration: {
    awsvpcConfiguration: {
      subnets: [tfstate('aws_subnet.private[%d].id' % i) for i in [0, 1, 2]],
      securityGroups: [tfstate('aws_security_group.app.id')],
      assignPublicIp: 'DISABLED',
    },
  },
  loadBalancers: [
    {
      targetGroupArn: tfstate('aws_lb_target_group.app.arn'),
      containerName: 'app',
      containerPort: 8080,
    },
  ],
  healthCheckGracePeriodSeconds: 30,
  propagateTags: 'SERVICE',
  enableExecuteCommand: false,
}
