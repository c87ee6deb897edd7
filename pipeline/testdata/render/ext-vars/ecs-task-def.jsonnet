local replicas = std.extVar('sidecars');
{
  family: 'app-' + std.extVar('env'),
  containerDefinitions: [
    { name: 'app', image: std.extVar('image'), memory: std.native('env')('APP_MEMORY', 512) },
  ] + [
    { name: 'sidecar-%d' % i, image: 'public.ecr.aws/nginx/nginx:1.27', memory: 64, essential: false }
    for i in std.range(1, replicas)
  ],
}
