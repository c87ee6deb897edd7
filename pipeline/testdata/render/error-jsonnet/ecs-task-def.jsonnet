local name = 'app';
{
  family: name,
  containerDefinitions: [
    { name: name, image: undefined_variable },
  ],
}
