// Injected by build.ts into the bundle: free uses of these globals in bundled code
// take the bundled undici's classes instead. @azure/core-rest-pipeline checks
// `body instanceof FormData` on every request, and the first touch of Node's global
// FormData loads Node's own copy of undici and the web streams (2 MB, never used).
export { FormData } from 'undici';
