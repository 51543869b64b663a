// Loads TypeScript/TSX for the component tests with web/tsconfig.json (react-jsx), not the root config.
import { register } from "tsx/esm/api";

register({ tsconfig: new URL("../tsconfig.json", import.meta.url).pathname });
