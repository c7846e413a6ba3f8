import { defineStrings } from "./define";

export default defineStrings({ title: "reading" }, { title: "reading" });
