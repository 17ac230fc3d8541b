/**
 * Passwords refused whatever their complexity: the most common ones in public
 * breach corpora, and the patterns people use to satisfy complexity rules.
 * Compared lower-cased, and also with trailing digits/symbols stripped.
 */
export const COMMON_PASSWORDS: ReadonlySet<string> = new Set([
  'password', 'password1', 'password12', 'password123', 'password1234', 'passw0rd', 'p@ssw0rd', 'p@ssword', 'p@55w0rd',
  'qwerty', 'qwerty1', 'qwerty12', 'qwerty123', 'qwertyuiop', 'qwerty123456', 'azerty', 'azerty123', 'asdfgh', 'asdfghjkl',
  'zxcvbnm', '1q2w3e4r', '1q2w3e4r5t', '1qaz2wsx', 'zaq12wsx', 'qazwsx', '123qwe', 'abc123', 'abcd1234', 'a1b2c3d4',
  'letmein', 'letmein1', 'welcome', 'welcome1', 'welcome123', 'admin', 'admin123', 'administrator', 'root', 'toor',
  'changeme', 'changeme1', 'default', 'guest', 'login', 'master', 'secret', 'secret123', 'iloveyou', 'iloveyou1',
  'monkey', 'dragon', 'football', 'baseball', 'basketball', 'soccer', 'hockey', 'superman', 'batman', 'trustno1',
  'sunshine', 'princess', 'shadow', 'michael', 'jennifer', 'jordan', 'hunter', 'hunter2', 'charlie', 'thomas',
  'summer', 'winter', 'spring', 'autumn', 'starwars', 'pokemon', 'whatever', 'freedom', 'computer', 'internet',
  'samsung', 'google', 'apple', 'microsoft', 'company', 'business', 'office', 'smartalex', 'smartalex1',
  'qwe123', 'q1w2e3r4', 'q1w2e3r4t5', 'passpass', 'mypassword', 'newpassword', 'temp1234', 'test1234', 'testing',
  'test', 'test123', 'demo', 'demo1234', 'user', 'user1234', 'access', 'access14', 'mustang', 'killer', 'pepper',
  'ginger', 'cheese', 'cookie', 'chocolate', 'flower', 'orange', 'banana', 'purple', 'matrix', 'ninja', 'zaq1zaq1',
  '12345678', '123456789', '1234567890', '0987654321', '11111111', '00000000', '87654321', '88888888', '12341234',
  '11223344', '123123123', '1234qwer', 'qwer1234', 'asdf1234', 'zxcv1234', 'aa123456', 'abc12345', 'abcdefg1',
]);
