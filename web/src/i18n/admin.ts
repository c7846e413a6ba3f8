import { defineStrings } from "./define";

export default defineStrings({ title: "admin" }, { title: "admin" });
