// The page a role may not open: only the header, so the user can go where they may.
import { startPage } from "./common.js";

startPage(null);
