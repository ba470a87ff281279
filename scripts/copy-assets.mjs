// Copies the non-TypeScript assets that the compiled code loads at run time
// (our .proto files and PxL scripts) next to the compiled JavaScript in dist/.
import { cpSync } from 'node:fs'
cpSync('src/pixie/proto', 'dist/pixie/proto', { recursive: true })
