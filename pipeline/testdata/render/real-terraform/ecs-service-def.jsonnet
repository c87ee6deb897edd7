local tfstate = std.native('tfstate');

{
  launchType: 'FARGATE',
  networkConfiguration: {
    awsvpcConfiguration: {
      subnets: [tfstate('output.subnet_ids[%d]' % i) for i in [0, 1]],
      assignPublicIp: 'DISABLED',
    },
  },
}
