// Types for the parts of xml-encryption (which ships none) that Gatehouse uses.
declare module 'xml-encryption' {
  interface EncryptOptions {
    rsa_pub: string;
    pem: string;
    encryptionAlgorithm: string;
    keyEncryptionAlgorithm: string;
    disallowEncryptionWithInsecureAlgorithm?: boolean;
    warnInsecureAlgorithm?: boolean;
  }
  interface DecryptOptions {
    key: string;
    disallowDecryptionWithInsecureAlgorithm?: boolean;
    warnInsecureAlgorithm?: boolean;
  }
  export function encrypt(content: string, options: EncryptOptions, callback: (err: Error | null, result?: string) => void): void;
  export function decrypt(xml: string | Node, options: DecryptOptions, callback: (err: Error | null, result?: string) => void): void;
}
