// Placeholder: replaced by the screen's implementation.
export default function Dashboard() {
  return <h1>Dashboard</h1>;
}
