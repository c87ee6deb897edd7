// 700 variables of 100 bytes each push the definition over 64 KiB.
{
  family: 'app',
  containerDefinitions: [{
    name: 'app',
    image: 'app:1',
    environment: [{ name: 'VAR_%04d' % i, value: std.join('', std.makeArray(100, function(j) 'x')) } for i in std.range(1, 700)],
  }],
}
