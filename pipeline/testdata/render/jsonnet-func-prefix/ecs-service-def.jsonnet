local network = std.native('network_tfstate');
{
  launchType: 'FARGATE',
  networkConfiguration: {
    awsvpcConfiguration: {
      subnets: [network('aws_subnet.public[%d].id' % i) for i in [0, 1]],
      securityGroups: ['{{ network_tfstatef `aws_security_group.%s.id` `alb` }}'],
      assignPublicIp: 'ENABLED',
    },
  },
}
