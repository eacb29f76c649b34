package androidx.test.ext.junit.runners;

import org.junit.runner.Description;
import org.junit.runner.Runner;
import org.junit.runner.notification.RunNotifier;
import org.junit.runners.model.InitializationError;

public final class AndroidJUnit4 extends Runner {
    public AndroidJUnit4(Class<?> klass) throws InitializationError {
        throw new RuntimeException("Stub!");
    }

    @Override
    public Description getDescription() {
        throw new RuntimeException("Stub!");
    }

    @Override
    public void run(RunNotifier notifier) {
        throw new RuntimeException("Stub!");
    }
}
