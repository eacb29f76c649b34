package android.app;

import android.content.Context;

public class Instrumentation {
    public Context getContext() {
        throw new RuntimeException("Stub!");
    }

    public Context getTargetContext() {
        throw new RuntimeException("Stub!");
    }
}
