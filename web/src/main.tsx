import { render } from "preact";
import { createPaClients } from "./api/clients.js";
import { App } from "./app.js";
import "./styles.css";

const root = document.getElementById("app");
if (root) render(<App clients={createPaClients(location.origin)} />, root);
