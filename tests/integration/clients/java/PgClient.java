// Exercises PostgreSQL's JDBC driver against an endpoint (direct or through pgwarden) and exits
// 0 only if every check passed.
//
//   javac -cp /usr/share/java/postgresql.jar -d OUT PgClient.java
//   java -cp /usr/share/java/postgresql.jar:OUT PgClient postgresql://user:pw@host:port/db
//
// prepareThreshold=1 makes pgJDBC switch a PreparedStatement to a named server-side statement
// on its first execution, and it keeps using that name across transactions: what a
// transaction-mode pooler must keep working.
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicReference;

public final class PgClient {
    private static int failures = 0;

    private static void check(String name, boolean ok, Object detail) {
        System.out.println((ok ? "ok   " : "FAIL ") + name + (detail != null ? ": " + detail : ""));
        if (!ok) {
            failures++;
        }
    }

    private static Connection connect(URI uri) throws SQLException {
        String[] userInfo = uri.getRawUserInfo().split(":", 2);
        Properties props = new Properties();
        props.setProperty("user", URLDecoder.decode(userInfo[0], StandardCharsets.UTF_8));
        props.setProperty("password", URLDecoder.decode(userInfo[1], StandardCharsets.UTF_8));
        props.setProperty("prepareThreshold", "1");
        props.setProperty("connectTimeout", "10");
        props.setProperty("socketTimeout", "60");
        String url = "jdbc:postgresql://" + uri.getHost() + ":" + uri.getPort() + uri.getPath();
        return DriverManager.getConnection(url, props);
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: PgClient postgresql://user:password@host:port/db");
            System.exit(2);
        }
        URI uri = new URI(args[0]);
        try (Connection conn = connect(uri)) {
            conn.setAutoCommit(false);
            boolean ok = true;
            try (PreparedStatement ps = conn.prepareStatement("SELECT ?::int + 1")) {
                for (int i = 0; i < 200; i++) {
                    ps.setInt(1, i);
                    try (ResultSet rs = ps.executeQuery()) {
                        ok &= rs.next() && rs.getInt(1) == i + 1;
                    }
                    conn.commit();
                }
            }
            check("200 transactions reusing one server-prepared statement", ok, null);

            try (Statement st = conn.createStatement()) {
                st.execute("DROP TABLE IF EXISTS jdbc_items");
                st.execute("CREATE TABLE jdbc_items (id int PRIMARY KEY, name text)");
            }
            conn.commit();
            try (PreparedStatement ins =
                     conn.prepareStatement("INSERT INTO jdbc_items (id, name) VALUES (?, ?)")) {
                for (int i = 0; i < 500; i++) {
                    ins.setInt(1, i);
                    ins.setString(2, "n" + i);
                    ins.addBatch();
                }
                int[] counts = ins.executeBatch();
                conn.commit();
                check("batch insert of 500 rows", counts.length == 500, counts.length);
            }
            try (Statement st = conn.createStatement();
                 ResultSet rs = st.executeQuery("SELECT count(*) FROM jdbc_items")) {
                check("batch rows visible", rs.next() && rs.getInt(1) == 500, null);
            }
            conn.commit();

            try (Statement st = conn.createStatement()) {
                st.execute("INSERT INTO jdbc_items VALUES (1, 'dup')");
                check("duplicate key raises", false, null);
            } catch (SQLException e) {
                check("duplicate key raises SQLSTATE 23505", "23505".equals(e.getSQLState()),
                      e.getSQLState());
            }
            conn.rollback();

            // Statement.cancel() from another thread sends a CancelRequest for this backend.
            try (Statement st = conn.createStatement()) {
                AtomicReference<Throwable> canceller = new AtomicReference<>();
                Thread t = new Thread(() -> {
                    try {
                        Thread.sleep(700);
                        st.cancel();
                    } catch (Exception e) {
                        canceller.set(e);
                    }
                });
                long start = System.nanoTime();
                t.start();
                try {
                    st.execute("SELECT pg_sleep(20)");
                    check("cancel interrupts pg_sleep", false, "query finished");
                } catch (SQLException e) {
                    double secs = (System.nanoTime() - start) / 1e9;
                    check("Statement.cancel() gives SQLSTATE 57014",
                          "57014".equals(e.getSQLState()) && secs < 10,
                          e.getSQLState() + " after " + secs + " s");
                }
                t.join(30000);
                check("canceller thread ok", canceller.get() == null, canceller.get());
            }
            conn.rollback();
            try (Statement st = conn.createStatement();
                 ResultSet rs = st.executeQuery("SELECT 8")) {
                check("connection usable after cancel", rs.next() && rs.getInt(1) == 8, null);
            }
            try (Statement st = conn.createStatement()) {
                st.execute("DROP TABLE jdbc_items");
            }
            conn.commit();
        } catch (SQLException e) {
            check("no unexpected SQL error", false, e.getSQLState() + " " + e.getMessage());
        }
        System.out.println(failures == 0 ? "all checks passed" : failures + " check(s) failed");
        System.exit(failures == 0 ? 0 : 1);
    }
}
