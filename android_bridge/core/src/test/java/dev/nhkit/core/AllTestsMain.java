package dev.nhkit.core;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

import org.junit.runner.Description;
import org.junit.runner.JUnitCore;
import org.junit.runner.Request;
import org.junit.runner.Result;
import org.junit.runner.notification.Failure;
import org.junit.runner.notification.RunListener;

/**
 * Runs the given JUnit 4 test classes and prints one line per test plus a JUnit/Surefire-style
 * summary line: {@code Tests run: N, Failures: F, Errors: E, Skipped: S, Time elapsed: T s}.
 * Exit status 0 only when nothing failed. Used by android_bridge/test.sh (no Gradle here).
 */
public final class AllTestsMain {
    private AllTestsMain() {}

    public static void main(String[] args) throws Exception {
        final PrintStream out = System.out;
        List<Class<?>> classes = new ArrayList<>();
        for (String a : args) {
            classes.add(Class.forName(a));
        }
        final int[] failures = {0};
        final int[] errors = {0};
        JUnitCore core = new JUnitCore();
        core.addListener(new RunListener() {
            private boolean failed;

            @Override
            public void testStarted(Description d) {
                failed = false;
            }

            @Override
            public void testFailure(Failure f) {
                failed = true;
                boolean assertion = f.getException() instanceof AssertionError;
                if (assertion) {
                    failures[0]++;
                } else {
                    errors[0]++;
                }
                out.println("FAIL  " + name(f.getDescription()) + "\n      "
                        + String.valueOf(f.getException()).replace("\n", "\n      "));
                if (!assertion) {
                    StackTraceElement[] st = f.getException().getStackTrace();
                    for (int i = 0; i < Math.min(8, st.length); i++) {
                        out.println("        at " + st[i]);
                    }
                }
            }

            @Override
            public void testAssumptionFailure(Failure f) {
                failed = true;
                out.println("SKIP  " + name(f.getDescription()) + ": " + f.getMessage());
            }

            @Override
            public void testIgnored(Description d) {
                out.println("SKIP  " + name(d));
            }

            @Override
            public void testFinished(Description d) {
                if (!failed) {
                    out.println("ok    " + name(d));
                }
            }
        });
        long t0 = System.nanoTime();
        Result r = core.run(Request.classes(classes.toArray(new Class<?>[0])));
        double secs = (System.nanoTime() - t0) / 1e9;
        int skipped = r.getIgnoreCount() + r.getAssumptionFailureCount();
        out.println(String.format(java.util.Locale.ROOT,
                "Tests run: %d, Failures: %d, Errors: %d, Skipped: %d, Time elapsed: %.1f s",
                r.getRunCount(), failures[0], errors[0], skipped, secs));
        System.exit(r.wasSuccessful() ? 0 : 1);
    }

    private static String name(Description d) {
        String cls = d.getClassName();
        int dot = cls.lastIndexOf('.');
        return (dot >= 0 ? cls.substring(dot + 1) : cls) + "." + d.getMethodName();
    }
}
